"""srpc over NATS: the transport (servers and clients on ``nats://`` targets) and the NATS
service protocol (``srpc.nats.service``). Importing this package imports nothing else: nats-py
is loaded only by the modules that talk to a NATS server."""
