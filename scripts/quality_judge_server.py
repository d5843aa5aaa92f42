#!/usr/bin/env python3
"""A scripted LLM judge: an OpenAI-compatible HTTP server on loopback whose replies come from a
deterministic rule over the document, for running the quality loop (sluice annotate -> sluice
quality train -> quality_score) without a real LLM.

Usage: scripts/quality_judge_server.py [--port N] [--port-file FILE]
  Serves POST /v1/chat/completions and /v1/completions, GET /health and /v1/models on
  127.0.0.1 (port 0 = any free port; the port is printed on stdout and written to --port-file).

The judge reads the document between the first pair of lines that are exactly three double
quotes (as the built-in educational_value rubric frames it) and awards one point for each of:
  1. at least 40 words;
  2. at least 80% of the words are alphabetic (after trimming punctuation);
  3. at least 15% of the words are common English function words;
  4. at least three sentence ends (., ! or ? followed by a space or a line end);
  5. no "markup" tokens: runs of three or more of - = * _ # | < > ~ ^ or a backslash.
The score (0 to 5) is stated in one of several shapes, chosen by a hash of the text, so that
the parser meets real variety: "Educational score: N" (most), "**Score:** N/5",
"Educational Score: **N**" followed by a note, a bare "N", and, for 1 in 40 documents, a
reply with no score at all (which sluice annotate must count as unparseable).

Swift's tests use the same scoring rule (Tests/SluiceQualityTests/ScriptedJudge.swift); they pick
the reply shapes with another hash.
"""

import argparse
import hashlib
import http.server
import json
import sys
import threading

FUNCTION_WORDS = {
    "the", "of", "and", "to", "a", "in", "that", "is", "it", "for", "was", "on", "with", "as", "be", "his", "he", "they",
    "at", "by", "this", "from", "or", "but", "not", "are", "have", "which", "unto", "shall", "you", "i", "all", "an", "if",
}
PUNCT = ".,;:!?'\"()[]{}"
MARKUP = set("-=*_#|<>~^\\")


def judge_score(text):
    words = text.split()
    n = len(words)
    score = 0
    if n >= 40:
        score += 1
    trimmed = [w.strip(PUNCT) for w in words]
    if n and sum(1 for w in trimmed if w.isalpha()) >= 0.8 * n:
        score += 1
    if n and sum(1 for w in trimmed if w.lower() in FUNCTION_WORDS) >= 0.15 * n:
        score += 1
    ends = 0
    for i, c in enumerate(text):
        if c in ".!?" and (i + 1 == len(text) or text[i + 1] in " \n"):
            ends += 1
    if ends >= 3:
        score += 1
    markup = False
    for w in words:
        run = 0
        for c in w:
            run = run + 1 if c in MARKUP else 0
            if run >= 3:
                markup = True
                break
        if markup:
            break
    if not markup:
        score += 1
    return score


def document_of(prompt):
    lines = prompt.split("\n")
    try:
        a = lines.index('"""')
        b = lines.index('"""', a + 1)
        return "\n".join(lines[a + 1:b])
    except ValueError:
        return prompt


def reply_for(prompt):
    doc = document_of(prompt)
    s = judge_score(doc)
    h = int(hashlib.sha256(doc.encode("utf-8")).hexdigest()[:8], 16) % 40
    if h == 0:
        return "I am not able to rate this document."
    if h < 28:
        return f"The text has {len(doc.split())} words; judged by the scripted rule.\nEducational score: {s}"
    if h < 32:
        return f"Reasoning: scripted.\n\n**Score:** {s}/5"
    if h < 36:
        return f"Educational Score: **{s}**\n\nNote: this judge is a script, scores are rule-based."
    return f"{s}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, obj):
        body = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self.send(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/v1/models":
            self.send(200, {"object": "list", "data": [{"id": "scripted-judge", "object": "model"}]})
        else:
            self.send(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") == "/v1/chat/completions":
            messages = body.get("messages") or []
            prompt = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
            text = reply_for(prompt)
            self.send(200, {
                "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": body.get("model", "scripted-judge"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4, "total_tokens": (len(prompt) + len(text)) // 4},
            })
        elif self.path.rstrip("/") == "/v1/completions":
            text = reply_for(body.get("prompt", ""))
            self.send(200, {
                "id": "cmpl-scripted", "object": "text_completion", "created": 0, "model": body.get("model", "scripted-judge"),
                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
            })
        else:
            self.send(404, {"error": {"message": "not found", "type": "not_found"}})


def main():
    ap = argparse.ArgumentParser(description="A scripted OpenAI-compatible judge on loopback.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
