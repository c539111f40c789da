"""Pure domain code: plain data and decisions, standard library only."""
