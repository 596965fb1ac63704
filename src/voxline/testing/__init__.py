"""Local servers that speak the cloud vendors' wire protocols, for tests and `voxline bench`.

They run on loopback only, answer with real audio and real VAD where the vendor would, and
take a latency profile and fault injection so that the real client code is what is exercised.
"""
