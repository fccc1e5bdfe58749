"""What happened on a call: calls, ratings, recordings, links, later ratings, SMS."""
