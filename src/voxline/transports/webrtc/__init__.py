"""Browser calls over WebRTC (aiortc): ICE configuration, signalling, media and data channel."""
