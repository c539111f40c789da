"""Turns desired state into running environments: one serial queue per environment."""
