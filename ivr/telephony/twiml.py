"""Twilio's markup: engine steps as TwiML, with the `twilio` helper library."""

from __future__ import annotations

from twilio.twiml.voice_response import Connect, Gather, Play, Record, Say, Stream, VoiceResponse

import prompts
from callflows import Step
from ivr.telephony import StepUrls

ALL_KEYS = "0123456789*#"
# After the tone, this much silence ends a spoken answer.
SILENCE_ENDS_ANSWER_S = 2
# With speech, the `<Gather>` waits only briefly for a key after its prompts: then
# the tone sounds and the caller may speak (keys still end the recording).
KEY_WAIT_BEFORE_TONE_S = 1


def prompt_verb(base_url: str, lang: str, name: str) -> Play | Say:
    """`<Play>` the prompt's audio; `<Say>` its text if the audio was never built."""
    if prompts.audio_path(lang, name) is not None:
        return Play(f"{base_url}/prompts/{lang}/{name}.wav")
    pack = prompts.load_pack(lang)
    return Say(pack.prompts.get(name, name), language=pack.say_language)


def render_step(step: Step, base_url: str, lang: str, urls: StepUrls) -> VoiceResponse:
    """TwiML for one step.

    A question: its prompts inside a one-key `<Gather>` (barge-in); with speech,
    then a `<Record>` of the answer. A recording step: prompts, then `<Record>`.
    Otherwise: prompts, then hang up.
    """
    if not step.wait_for_key and not step.listen:
        return play_and_hang_up(base_url, lang, *step.prompts)
    response = VoiceResponse()
    if step.wait_for_key:
        gather = Gather(
            input="dtmf",
            num_digits=1,
            timeout=KEY_WAIT_BEFORE_TONE_S if step.listen else step.timeout_seconds,
            finish_on_key="",  # every key, `#` included, is an answer
            action=urls.key,
            method="POST",
            # Without speech, silence reaches the action; with it, the call moves on
            # to the tone and the recording.
            action_on_empty_result=not step.listen,
        )
        for name in step.prompts:
            gather.append(prompt_verb(base_url, lang, name))
        response.append(gather)
    else:
        for name in step.prompts:
            response.append(prompt_verb(base_url, lang, name))
    if step.listen:
        response.append(
            Record(
                action=urls.recorded,
                method="POST",
                max_length=step.listen_seconds,
                timeout=SILENCE_ENDS_ANSWER_S,
                finish_on_key=ALL_KEYS,
                play_beep=True,
                trim="trim-silence",
                recording_status_callback=urls.recording_status,
                recording_status_callback_method="POST",
                recording_status_callback_event="completed absent",
            )
        )
        # Twilio skips the action when nothing was recorded and goes on here.
        response.redirect(urls.nothing_recorded, method="POST")
    return response


def play_and_hang_up(base_url: str, lang: str, *names: str) -> VoiceResponse:
    """TwiML that plays the given prompts, then hangs up."""
    response = VoiceResponse()
    for name in names:
        response.append(prompt_verb(base_url, lang, name))
    response.hangup()
    return response


def pause_and_redirect(url: str, seconds: int = 1) -> VoiceResponse:
    """TwiML that waits a moment on the line, then asks `url` what to do."""
    response = VoiceResponse()
    response.pause(length=seconds)
    response.redirect(url, method="POST")
    return response


def connect_stream(stream_url: str, parameters: dict[str, str], action_url: str) -> VoiceResponse:
    """`<Connect action><Stream url><Parameter/>…</Stream></Connect>`: a bidirectional
    media stream; Twilio requests `action_url` once the stream is closed."""
    connect = Connect(action=action_url, method="POST")
    stream = Stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    connect.append(stream)
    response = VoiceResponse()
    response.append(connect)
    return response
