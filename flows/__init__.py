"""Platform-neutral conversations: neutral inbound events in, neutral messages out."""
