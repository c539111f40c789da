"""The control plane's own state: desired and observed environment state, credentials, the event outbox."""
