"""Operator CLI and offline engine for the dataops Pulumi program."""
