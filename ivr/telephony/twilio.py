"""Render engine steps as TwiML, with the `twilio` helper library."""

from __future__ import annotations

from flask import Response
from twilio.twiml.voice_response import Gather, Play, Say, VoiceResponse

import prompts
from callflows import Step


def prompt_verb(base_url: str, lang: str, name: str) -> Play | Say:
    """`<Play>` the prompt's audio; `<Say>` its text if the audio was never built."""
    if prompts.audio_path(lang, name) is not None:
        return Play(f"{base_url}/prompts/{lang}/{name}.wav")
    pack = prompts.load_pack(lang)
    return Say(pack.prompts.get(name, name), language=pack.say_language)


def render_step(step: Step, base_url: str, lang: str, action_url: str) -> VoiceResponse:
    """TwiML for one step: prompts inside a one-key `<Gather>` (barge-in), or then hang up."""
    if step.wait_for_key:
        gather = Gather(
            input="dtmf",
            num_digits=1,
            timeout=step.timeout_seconds,
            finish_on_key="",  # every key, `#` included, is an answer
            action=action_url,
            method="POST",
            action_on_empty_result=True,  # silence also reaches the action
        )
        for name in step.prompts:
            gather.append(prompt_verb(base_url, lang, name))
        response = VoiceResponse()
        response.append(gather)
        return response
    return play_and_hang_up(base_url, lang, *step.prompts)


def play_and_hang_up(base_url: str, lang: str, *names: str) -> VoiceResponse:
    """TwiML that plays the given prompts, then hangs up."""
    response = VoiceResponse()
    for name in names:
        response.append(prompt_verb(base_url, lang, name))
    response.hangup()
    return response


def twiml(response: VoiceResponse) -> Response:
    """A Flask response carrying TwiML as `text/xml`."""
    return Response(str(response), status=200, mimetype="text/xml")
