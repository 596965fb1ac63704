"""Sans-IO SIP: messages, SDP offer/answer, transactions, dialogs and digest auth.

No sockets and no clocks: the async shell in voxline.transports.sip moves the bytes and passes
the time in.
"""
