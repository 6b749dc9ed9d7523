"""Subscribe to a Relaybase room from Python (python-socketio 5.x), print each message.

    python3 subscribe.py REALTIME_URL PUBLISHABLE_KEY ROOM [TOKEN]

Prints one JSON line per event: {"subscribed": ...}, {"message": ...} or {"refused": code}.
"""
import json
import sys
import threading

import socketio

url, key, room = sys.argv[1], sys.argv[2], sys.argv[3]
token = sys.argv[4] if len(sys.argv) > 4 else None

sio = socketio.Client(reconnection=False)
# python-socketio runs every event handler in a thread of its own, so handlers can run
# at once and finish out of order: keep each room's last offset and order by it.
printing = threading.Lock()


def say(**line):
    with printing:
        print(json.dumps(line), flush=True)


@sio.event
def connect():
    # Acks come back as the callback's arguments; the ack is one object.
    sio.emit("subscribe", {"room": room}, callback=lambda ack: say(subscribed=ack))


@sio.event
def connect_error(err):
    # A refused handshake: {"message": ..., "data": {"code", "message", "retry"}}.
    say(refused=err["data"]["code"] if isinstance(err, dict) and "data" in err else str(err))


# With connection state recovery on, Socket.IO appends its recovery offset (a string) to
# every broadcast as an extra argument. A handler that takes exactly one argument fails
# on every message; take the extra one and ignore it.
@sio.on("message")
def message(envelope, *_recovery_offset):
    say(message=envelope)


@sio.on("skip")
def skip(marker, *_recovery_offset):
    say(skip=marker)


auth = {"key": key, **({"token": token} if token else {})}
try:
    sio.connect(url, auth=auth, transports=["websocket"])
except socketio.exceptions.ConnectionError:
    sys.exit(0)  # connect_error said why
sio.wait()
