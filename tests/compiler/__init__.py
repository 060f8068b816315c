"""Tests of srpc-stubgen: parser, model, fingerprint, rendering, command line, corpus."""
