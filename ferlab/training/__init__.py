"""Fit, evaluate and tune (keras-tuner); every epoch goes to the store."""
