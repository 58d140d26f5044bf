"""Wire messages: msgspec Structs shaped exactly like MLflow's JSON messages.

One module per resource family. Request structs decode leniently (proto3 JSON accepts
numbers as strings); response structs omit unset fields as proto3 JSON does.
"""
