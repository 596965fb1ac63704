// Voice-to-voice, timed on the audio thread from the audio itself.
//
// Input 0 is the caller's microphone track, input 1 the agent's received track, both in one
// AudioContext, so both are read against one clock (currentTime) with no main-thread jitter.
// Per render quantum (128 frames, ~2.7 ms at 48 kHz) the RMS of each input is compared with
// -40 dBFS, the same floor the file caller uses on the server side.
//
//   caller voiced  -> remember the end of that quantum; after VOICED_MIN_S of voice, arm
//   agent voiced while armed and the caller is quiet
//                  -> voice_to_voice = start of this quantum - end of the caller's last voice
//
// One figure per caller utterance: measuring disarms until the caller speaks again.

const FLOOR = Math.pow(10, -40 / 20); // -40 dBFS, full scale = 1.0
const VOICED_MIN_S = 0.1; // shorter bursts (a click, a breath) do not arm the timer
const LEVEL_EVERY = 16; // quanta between level reports to the page (~43 ms)

function rms(input) {
  const channel = input && input[0];
  if (!channel) return 0;
  let sum = 0;
  for (let i = 0; i < channel.length; i++) sum += channel[i] * channel[i];
  return Math.sqrt(sum / channel.length);
}

class VoiceGap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.lastCallerVoice = null; // end time (s) of the caller's last voiced quantum
    this.voicedS = 0; // voice heard since the last measurement
    this.armed = false;
    this.agentVoicedS = 0; // total agent audio above the floor: "energy in the received track"
    this.peaks = [0, 0];
    this.quanta = 0;
  }

  process(inputs) {
    const quantumS = 128 / sampleRate;
    const caller = rms(inputs[0]);
    const agent = rms(inputs[1]);
    const start = currentTime;
    if (caller > FLOOR) {
      this.lastCallerVoice = start + quantumS;
      this.voicedS += quantumS;
      if (this.voicedS >= VOICED_MIN_S) this.armed = true;
    }
    if (agent > FLOOR) {
      this.agentVoicedS += quantumS;
      if (this.armed && caller <= FLOOR && this.lastCallerVoice !== null) {
        const ms = (start - this.lastCallerVoice) * 1000;
        this.port.postMessage({ type: "voice_to_voice", ms, at: start });
        this.armed = false;
        this.voicedS = 0;
      }
    }
    this.peaks[0] = Math.max(this.peaks[0], caller);
    this.peaks[1] = Math.max(this.peaks[1], agent);
    if (++this.quanta % LEVEL_EVERY === 0) {
      this.port.postMessage({
        type: "levels", caller: this.peaks[0], agent: this.peaks[1],
        agentVoicedMs: this.agentVoicedS * 1000,
      });
      this.peaks = [0, 0];
    }
    return true;
  }
}

registerProcessor("voice-gap", VoiceGap);
