"""The live proxy: forwards a front end's traffic to an agent and judges it on the side.

`tap` is what the forwarding path hands over (chunks with their arrival times, under a byte
budget), `book` judges ended exchanges in a thread of its own with the runner's engine and
keeps the last ones, `app` is the ASGI forwarder and its live page, `serve` runs it. The
forwarding path never waits for the judging side.
"""
