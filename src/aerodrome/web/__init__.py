"""What every HTTP listener of the control plane shares (MWAA API, Aerodrome API, web endpoints)."""
