"""Platform adapters: each translates platform payloads to neutral events and renders messages."""
