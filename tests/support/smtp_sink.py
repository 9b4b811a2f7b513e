"""A real SMTP server on loopback for the message tests (aiosmtpd, Debian's python3-aiosmtpd).

Prints "PORT <n>" once it listens, then one JSON line per message it accepts (envelope sender and
recipients, Message-ID, subject and decoded text). SMTP_SINK_DEFER=N answers the first N
messages "451" (try again later); SMTP_SINK_REFUSE=1 answers every message "550".
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self):
        self.defer = int(os.environ.get("SMTP_SINK_DEFER", "0"))
        self.refuse = os.environ.get("SMTP_SINK_REFUSE") == "1"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if self.defer > 0:
            self.defer -= 1
            print(json.dumps({"deferred": msg["Message-ID"]}), flush=True)
            return "451 4.3.0 Try again later"
        print(
            json.dumps(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "message_id": msg["Message-ID"],
                    "subject": str(msg["Subject"]),
                    "body": msg.get_content(),
                }
            ),
            flush=True,
        )
        return "250 2.0.0 OK"


async def main():
    handler = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", 0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
