#!/usr/bin/python3
"""xmpp_user.py — a real XMPP client (slixmpp) for the end-to-end tests: logs
in as JID with PASSWORD at 127.0.0.1:PORT, prints every chat message it gets
as one line "MSG <from> <body>" (flushed), answers each with "re: <body>"
when --echo is given, and sends --send TO BODY once online. Subscription
requests are approved (slixmpp's auto_authorize) and printed
"SUBSCRIBE <from>" / "UNSUBSCRIBE <from>"; once the file --away-when exists
it sends <show>away</show> ("AWAY"), once --offline-when exists it goes
unavailable and ends ("OFFLINE"). Its own subscription requests are not
sent automatically (auto_subscribe off): --subscribe JID (any number)
asks for JID's presence once online, --unsubscribe-when FILE cancels them
once FILE exists ("UNSUBSCRIBING"). It prints "SUBSCRIBED <from>",
"UNSUBSCRIBED <from>" and, for presence from others,
"PRESENCE <from> available|unavailable <show|-> <status|->".

usage: xmpp_user.py JID PASSWORD PORT [--echo] [--send TO BODY] [--seconds N]
                    [--away-when FILE] [--offline-when FILE] [--subscribe JID]
                    [--unsubscribe-when FILE]"""
import argparse
import asyncio
import os
import sys

import slixmpp


class User(slixmpp.ClientXMPP):
    def __init__(self, jid, password, echo, send, subscribe=()):
        super().__init__(jid, password)
        self.echo, self.to_send, self.subscribe = echo, send, list(subscribe)
        self.auto_subscribe = False
        self.add_event_handler("presence_subscribed",
                               lambda p: print("SUBSCRIBED %s" % p["from"], flush=True))
        self.add_event_handler("presence_unsubscribed",
                               lambda p: print("UNSUBSCRIBED %s" % p["from"], flush=True))
        # slixmpp names the event of an availability by its <show/>
        for t in ("available", "unavailable", "away", "xa", "dnd", "chat"):
            self.add_event_handler("presence_" + t, self.presence)
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)
        self.add_event_handler("message_error", self.message)
        self.add_event_handler("failed_auth", lambda *_: print("AUTH-FAILED", flush=True))
        self.add_event_handler("presence_subscribe",
                               lambda p: print("SUBSCRIBE %s" % p["from"], flush=True))
        self.add_event_handler("presence_unsubscribe",
                               lambda p: print("UNSUBSCRIBE %s" % p["from"], flush=True))

    async def start(self, _):
        # The roster makes this an interested resource (RFC 6121 §2.1.6):
        # Prosody delivers subscription changes (unsubscribe) only to those.
        await self.get_roster()
        self.send_presence()
        print("ONLINE", flush=True)
        if self.to_send:
            self.send_message(mto=self.to_send[0], mbody=self.to_send[1], mtype="chat")
        for j in self.subscribe:
            self.send_presence_subscription(pto=j, ptype="subscribe")

    def presence(self, p):
        if p["from"].bare == self.boundjid.bare:
            return
        print("PRESENCE %s %s %s %s" % (p["from"], "unavailable" if p["type"] == "unavailable"
                                        else "available", p["show"] or "-",
                                        p["status"] or "-"), flush=True)

    def message(self, msg):
        if msg["type"] == "error":
            if getattr(self, "_seen", None) == msg["id"]:
                return  # slixmpp fires both events for an error
            self._seen = msg["id"]
            print("ERROR %s %s %s" % (msg["from"], msg["error"]["condition"],
                                      msg["error"]["text"]), flush=True)
            return
        if msg["type"] not in ("chat", "normal"):
            return
        print("MSG %s %s" % (msg["from"], msg["body"]), flush=True)
        if self.echo:
            self.send_message(mto=msg["from"], mbody="re: " + msg["body"], mtype="chat")


async def run(u, a):
    end = u.loop.time() + a.seconds
    away = unsub = False
    while u.loop.time() < end:
        if a.unsubscribe_when and not unsub and os.path.exists(a.unsubscribe_when):
            for j in a.subscribe:
                u.send_presence(pto=j, ptype="unsubscribe")
            print("UNSUBSCRIBING", flush=True)
            unsub = True
        if a.away_when and not away and os.path.exists(a.away_when):
            u.send_presence(pshow="away", pstatus="gone fishing")
            print("AWAY", flush=True)
            away = True
        if a.offline_when and os.path.exists(a.offline_when):
            u.send_presence(ptype="unavailable")
            print("OFFLINE", flush=True)
            await asyncio.sleep(0.5)
            return
        await asyncio.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jid")
    ap.add_argument("password")
    ap.add_argument("port", type=int)
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--send", nargs=2)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--away-when")
    ap.add_argument("--offline-when")
    ap.add_argument("--subscribe", action="append", default=[])
    ap.add_argument("--unsubscribe-when")
    a = ap.parse_args()
    u = User(a.jid, a.password, a.echo, a.send, a.subscribe)
    u.connect(address=("127.0.0.1", a.port), disable_starttls=True, force_starttls=False)
    u.loop.run_until_complete(run(u, a))
    u.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
