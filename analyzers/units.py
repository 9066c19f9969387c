"""Units of time the analyses count in, in seconds."""

DAY = 86400
WEEK = 7 * DAY
