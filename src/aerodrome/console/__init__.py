"""The web console: a browser's view of the control plane, served on a listener of its own.

It holds no second path to the store: a signed-in person's console session keeps temporary
credentials of their principal in this process's memory, and every page reads and acts through the
plane's own MWAA, CloudWatch, CloudWatch Logs and Aerodrome APIs with them, so policies decide and
the audit log shows each call."""
