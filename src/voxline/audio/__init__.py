"""Pure audio core: 20 ms frames, PCM16 conversions, resampling, G.711, WAV files; no asyncio."""
