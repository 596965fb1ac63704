// The voxline call page: one WebRTC call to the agent, its transcript and its latencies.
//
// Flow: POST /webrtc/calls (a slot and the ICE servers; 503 = full) -> microphone ->
// RTCPeerConnection with the mic track and a "voxline" data channel -> WebSocket signalling
// (offer, trickled candidates; the answer carries the server's candidates) -> media.
// Query options: ?relay=1 forces TURN relay (iceTransportPolicy "relay").
//
// window.voxline exposes the call's state for tests and benchmarks (read-only use).

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const LATENCIES = [
  ["endpoint_delay_ms", "endpoint delay"],
  ["stt_latency_ms", "STT"],
  ["llm_first_token_ms", "LLM first token"],
  ["tts_first_chunk_ms", "TTS first chunk"],
  ["turn_latency_ms", "turn latency"],
];

const view = (window.voxline = {
  state: "idle", // idle | starting | connecting | connected | ended | failed
  callId: null,
  setupMs: null, // offer -> ICE connected, timed by the server
  browserSetupMs: null, // offer sent -> ICE connected, timed by this page
  voiceToVoice: [], // ms, one per answer, measured here
  turns: [], // TurnRecord dicts from the server
  transcript: [], // {who, text, final}
  agentVoicedMs: 0, // received agent audio above -40 dBFS
  iceStates: [],
  path: null, // the selected ICE pair: {local, remote, protocol}, e.g. relay -> host over udp
  errors: [], // {code, message}
  endReason: null,
  relay: params.get("relay") === "1",
});

let call = null; // {pc, ws, dc, mic, audio}

// -- messages to the person -------------------------------------------------------------------

function say(text) { $("call-status").textContent = text; }

function notice(code, text) {
  view.errors.push({ code, message: text });
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
  box.dataset.code = code;
}

function clearNotice() { $("notice").hidden = true; delete $("notice").dataset.code; }

const END_TEXT = {
  hangup: "Call ended.",
  signalling_closed: "Call ended: the connection to the server closed.",
  ice_failed: "Call failed: no network path to the server (ICE failed). A TURN server may be needed.",
  ice_timeout: "Call failed: the network connection to the server could not be set up in time.",
  offer_timeout: "Call failed: the call was not set up in time.",
  connection_failed: "Call failed: the secure media connection could not be set up.",
  connection_closed: "Call ended: the media connection closed.",
  caller_track_ended: "Call ended: the microphone track ended.",
  server_shutdown: "Call ended: the server is shutting down.",
};

// -- starting a call --------------------------------------------------------------------------

async function startCall() {
  clearNotice();
  setButtons("starting");
  view.state = "starting";
  say("Asking the server for a line…");
  let line;
  try {
    const response = await fetch("/webrtc/calls", { method: "POST" });
    line = await response.json();
    if (response.status === 503) {
      const err = line.error || {};
      const text = err.code === "server_full"
        ? "The server is full: every line is busy. Please try again in a moment."
        : `The server cannot take calls yet: ${err.message || "not ready"}`;
      return fail(err.code || "unavailable", text);
    }
    if (!response.ok) return fail("http_" + response.status, `The server refused the call (${response.status}).`);
  } catch (err) {
    return fail("network", `Could not reach the server: ${err.message}`);
  }
  view.callId = line.call_id;

  say("Waiting for the microphone…");
  let mic;
  try {
    mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: false,
    });
  } catch (err) {
    // Give the held line back at once rather than letting it lapse: the server may be near full.
    fetch(`/webrtc/calls/${line.call_id}`, { method: "DELETE" }).catch(() => {});
    const denied = err.name === "NotAllowedError" || err.name === "SecurityError";
    return fail(
      denied ? "mic_denied" : "mic_unavailable",
      denied
        ? "Microphone access was denied. Allow the microphone for this page (the icon in the address bar) and call again."
        : `No usable microphone: ${err.message || err.name}.`,
    );
  }

  const audio = new AudioContext();
  await audio.audioWorklet.addModule("/static/voice-gap.js");
  const gap = new AudioWorkletNode(audio, "voice-gap", { numberOfInputs: 2, numberOfOutputs: 1 });
  const sink = audio.createGain();
  sink.gain.value = 0; // the worklet must be pulled, but its output is not for ears
  gap.connect(sink).connect(audio.destination);
  audio.createMediaStreamSource(mic).connect(gap, 0, 0);
  gap.port.onmessage = (e) => onMeter(e.data);

  const config = { ...line.rtc_configuration };
  if (view.relay) config.iceTransportPolicy = "relay";
  const pc = new RTCPeerConnection(config);
  const dc = pc.createDataChannel("voxline");
  call = { pc, dc, mic, audio, gap, ws: null, ended: false, sent: false, early: [] };

  for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
  pc.ontrack = (e) => {
    const stream = e.streams[0] || new MediaStream([e.track]);
    // Chromium feeds a remote WebRTC stream to WebAudio only while a media element plays it.
    $("agent-audio").srcObject = stream;
    audio.createMediaStreamSource(stream).connect(gap, 0, 1);
  };
  pc.onicecandidate = (e) => {
    const message = e.candidate
      ? { type: "candidate", candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }
      : { type: "end_of_candidates" };
    if (call.sent) send(message); else call.early.push(message);
  };
  pc.oniceconnectionstatechange = () => {
    const state = pc.iceConnectionState;
    view.iceStates.push(state);
    send({ type: "ice_state", state });
    if (state === "failed") {
      notice("ice_failed", END_TEXT.ice_failed);
      endCall("ice_failed", { tellServer: true });
    } else if (state === "disconnected") {
      say("Connection interrupted, trying to recover…");
    } else if (state === "connected" || state === "completed") {
      if (view.browserSetupMs === null) view.browserSetupMs = Math.round((performance.now() - call.offerAt) * 10) / 10;
      if (view.state === "connected") say("In a call. Speak any time.");
    }
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed" && !call.ended) {
      notice("connection_failed", END_TEXT.connection_failed);
      endCall("connection_failed", { tellServer: true });
    }
  };
  dc.onmessage = (e) => onChannel(JSON.parse(e.data));

  view.state = "connecting";
  say("Connecting…");
  const ws = new WebSocket(new URL(line.signalling, location.href.replace(/^http/, "ws")));
  call.ws = ws;
  ws.onopen = async () => {
    try {
      await pc.setLocalDescription(await pc.createOffer());
    } catch (err) {
      notice("offer_failed", `This browser could not start the call: ${err.message}`);
      return endCall("offer_failed", { tellServer: true });
    }
    call.offerAt = performance.now();
    send({ type: "offer", sdp: pc.localDescription.sdp });
    call.sent = true;
    for (const message of call.early.splice(0)) send(message);
  };
  ws.onmessage = (e) => onSignal(JSON.parse(e.data));
  ws.onclose = () => {
    if (!call || call.ended) return;
    notice("signalling_closed", END_TEXT.signalling_closed);
    endCall("signalling_closed", { tellServer: false });
  };
  setButtons("in-call");
}

function send(message) {
  if (call && call.ws && call.ws.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify(message));
}

async function onSignal(message) {
  if (message.type === "answer") {
    await call.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
  } else if (message.type === "connected") {
    view.state = "connected";
    view.setupMs = message.setup_ms;
    $("setup-ms").textContent = `${Math.round(message.setup_ms)} ms`;
    say("In a call. Speak any time.");
    showPath();
  } else if (message.type === "error") {
    const text = `The server refused a message (${message.code}): ${message.message}`;
    notice(message.code, message.code === "server_full"
      ? "The server is full: every line is busy. Please try again in a moment." : text);
    if (message.fatal) endCall(message.code, { tellServer: false });
  } else if (message.type === "bye") {
    const kind = message.reason.split(":")[0];
    if (kind !== "hangup") notice(kind, `${END_TEXT[kind] || "Call ended."} (${message.reason})`);
    endCall(message.reason, { tellServer: false });
  }
}

// Which candidate pair carries the media (host, srflx or relay on each side), from getStats.
async function showPath() {
  if (!call) return;
  const stats = await call.pc.getStats();
  let pair = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
  });
  if (!pair) {
    stats.forEach((report) => {
      if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") pair = report;
    });
  }
  if (!pair) return;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  view.path = { local: local.candidateType, remote: remote.candidateType, protocol: local.protocol };
  $("ice-path").textContent = `${view.path.local} → ${view.path.remote} (${view.path.protocol})`;
}

// -- during the call --------------------------------------------------------------------------

function onChannel(message) {
  if (message.type === "state") {
    $("agent-state").textContent = message.state.replace("_", " ");
  } else if (message.type === "transcript") {
    addLine("caller", message.text, message.final);
  } else if (message.type === "agent") {
    addLine("agent", message.text, true);
  } else if (message.type === "turn") {
    const record = message.record;
    const at = view.turns.findIndex((t) => t.index === record.index);
    if (at >= 0) view.turns[at] = record; else view.turns.push(record);
    drawTurns();
  } else if (message.type === "barge_in") {
    $("agent-state").textContent = "interrupted";
  }
}

function addLine(who, text, final) {
  const list = $("transcript");
  list.querySelector(".empty")?.remove();
  const last = list.lastElementChild;
  // A speculative transcript is replaced by the next one; agent clauses join into one line.
  if (last && last.dataset.who === who && (who === "agent" || last.classList.contains("partial"))) {
    const body = last.querySelector(".text");
    body.textContent = who === "agent" ? `${body.textContent} ${text}` : text;
    last.classList.toggle("partial", !final);
    view.transcript[view.transcript.length - 1] = { who, text: body.textContent, final };
  } else {
    const item = document.createElement("li");
    item.className = who + (final ? "" : " partial");
    item.dataset.who = who;
    item.innerHTML = `<span class="who">${who === "caller" ? "you" : "agent"}</span><span class="text"></span>`;
    item.querySelector(".text").textContent = text;
    list.appendChild(item);
    view.transcript.push({ who, text, final });
  }
  list.scrollTop = list.scrollHeight;
}

function onMeter(data) {
  if (data.type === "levels") {
    $("mic-level").value = Math.min(1, data.caller * 4);
    $("agent-level").value = Math.min(1, data.agent * 4);
    view.agentVoicedMs = data.agentVoicedMs;
  } else if (data.type === "voice_to_voice") {
    const ms = Math.round(data.ms * 10) / 10;
    view.voiceToVoice.push(ms);
    $("v2v-ms").textContent = `${Math.round(ms)} ms`;
    if (call && call.dc.readyState === "open") call.dc.send(JSON.stringify({ type: "voice_to_voice", ms }));
  }
}

function drawTurns() {
  const box = $("turns");
  box.replaceChildren();
  const rows = (record) => [
    ...LATENCIES.map(([key, label]) => [label, record.latency[key], ""]),
    ["voice-to-voice", record.voice_to_voice_ms, "v2v"],
  ];
  const scale = Math.max(1500, ...view.turns.flatMap((r) => rows(r).map(([, v]) => v || 0)));
  for (const record of view.turns) {
    const turn = document.createElement("div");
    turn.className = "turn";
    const title = document.createElement("h3");
    title.textContent = `Turn ${record.index + 1} · ${record.outcome}`;
    turn.appendChild(title);
    for (const [label, value, kind] of rows(record)) {
      const row = document.createElement("div");
      row.className = `bar-row ${kind}`;
      const width = value == null ? 0 : Math.max(0.5, (100 * value) / scale);
      row.innerHTML = `<span class="name"></span><span class="track"><span class="fill" style="width:${width}%;display:block"></span></span><span class="value"></span>`;
      row.querySelector(".name").textContent = label;
      row.querySelector(".value").textContent = value == null ? "–" : `${Math.round(value)} ms`;
      turn.appendChild(row);
    }
    box.appendChild(turn);
  }
}

// -- ending -----------------------------------------------------------------------------------

function fail(code, text) {
  view.state = "failed";
  view.endReason = code;
  notice(code, text);
  say("Not in a call.");
  setButtons("idle");
}

function endCall(reason, { tellServer }) {
  if (!call || call.ended) return;
  call.ended = true;
  if (tellServer) send({ type: "hangup" });
  view.endReason = view.endReason || reason;
  view.state = "ended";
  call.pc.close();
  for (const track of call.mic.getTracks()) track.stop();
  if (call.ws && call.ws.readyState <= WebSocket.OPEN) call.ws.close();
  call.audio.close();
  $("agent-state").textContent = "idle";
  say("Not in a call.");
  setButtons("idle");
}

function setButtons(mode) {
  $("call").disabled = mode !== "idle";
  $("hangup").disabled = mode !== "in-call";
  $("mute").disabled = mode !== "in-call";
  if (mode !== "in-call") {
    $("mute").setAttribute("aria-pressed", "false");
    $("mute").textContent = "Mute";
  }
}

function toggleMute() {
  if (!call) return;
  const muted = $("mute").getAttribute("aria-pressed") !== "true";
  for (const track of call.mic.getAudioTracks()) track.enabled = !muted;
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute" : "Mute";
  say(muted ? "Muted: the agent hears silence." : "In a call. Speak any time.");
}

// -- the server panel -------------------------------------------------------------------------

async function refreshServer() {
  try {
    const info = await (await fetch("/healthz")).json();
    const status = $("model-status");
    if (status) {
      status.textContent = info.error ? `models failed to load: ${info.error}`
        : info.ready ? "models loaded and warm: ready for calls" : "loading and warming models…";
      status.className = info.error ? "bad" : info.ready ? "good" : "";
    }
    if (!info.ready && !info.error) setTimeout(refreshServer, 2000);
  } catch {
    setTimeout(refreshServer, 5000);
  }
}

$("call").addEventListener("click", () => {
  startCall().catch((err) => {
    // Anything the steps above did not foresee (no WebAudio, no WebRTC): say it, clean up.
    if (call) endCall("page_error", { tellServer: true });
    fail("page_error", `The call could not start in this browser: ${err.message || err}`);
  });
});
$("hangup").addEventListener("click", () => {
  endCall("hangup", { tellServer: true });
  say("Call ended.");
});
$("mute").addEventListener("click", toggleMute);
// For tests: whether the microphone track is being sent (false while muted).
window.voxlineMicEnabled = () => Boolean(call && call.mic.getAudioTracks().every((t) => t.enabled));
window.addEventListener("pagehide", () => call && endCall("hangup", { tellServer: true }));
refreshServer();
