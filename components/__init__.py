"""The dataops Pulumi program: one ComponentResource per layer, composed by ``platform``."""
