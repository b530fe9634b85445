"""Signing in through the organisation's OpenID provider from Python: the authorization URL the
app opens in the system browser, the PKCE verifier sent with the code, a redirect of another
sign-in refused before anything is sent, and a saved sign-in read back.

The whole flow against a real provider and a real Tidbit server (login and consent pages,
revocation) is `server/tests/identity.rs`; here a small token endpoint on 127.0.0.1 checks what
the bindings send it, as the provider does: the verifier must hash to the challenge."""

import asyncio
import base64
import hashlib
import http.server
import json
import re
import threading
import urllib.parse

import pytest

import tidbit as tb

REDIRECT = "org.example.tidbit:/signed-in"


def settings(issuer="https://id.example.org", server="http://127.0.0.1:9"):
    return tb.SignInSettings(
        issuer=issuer,
        client_id="tidbit-app",
        redirect_uri=REDIRECT,
        server=server,
        device="ada-phone",
    )


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class TokenEndpoint:
    """A token endpoint on 127.0.0.1 that checks the PKCE verifier against `challenge`, as a
    provider does, and refuses the code (`invalid_grant`) either way: the test reads what was
    sent. It also serves a discovery document naming `discovery_issuer`."""

    def __init__(self):
        self.requests = []
        self.challenge = None
        self.discovery_issuer = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = json.dumps({
                    "issuer": outer.discovery_issuer,
                    "authorization_endpoint": f"{outer.url}/auth",
                    "token_endpoint": f"{outer.url}/token",
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers["content-length"])
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                outer.requests.append(form)
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                matches = base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == outer.challenge
                body = json.dumps({
                    "error": "invalid_grant",
                    "error_description": "verifier matches" if matches else "verifier differs",
                }).encode()
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def endpoint():
    server = TokenEndpoint()
    yield server
    server.close()


def test_the_authorization_url_carries_an_s256_challenge_a_fresh_state_and_a_nonce():
    one = tb.SignIn.with_endpoints(settings(), "https://id.example.org/auth", "https://id.example.org/token")
    two = tb.SignIn.with_endpoints(settings(), "https://id.example.org/auth", "https://id.example.org/token")
    url = one.authorization_url()
    assert url.startswith("https://id.example.org/auth?")
    params = query(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == "tidbit-app"
    assert params["redirect_uri"] == REDIRECT
    assert params["scope"] == "openid email"
    assert params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params["code_challenge"])
    assert params["state"] == one.state()
    assert len(params["nonce"]) == 43
    assert query(two.authorization_url())["state"] != params["state"]
    assert query(two.authorization_url())["code_challenge"] != params["code_challenge"]


def test_finishing_sends_the_verifier_whose_hash_is_the_challenge(endpoint):
    sign_in = tb.SignIn.with_endpoints(settings(), f"{endpoint.url}/auth", f"{endpoint.url}/token")
    endpoint.challenge = query(sign_in.authorization_url())["code_challenge"]
    redirect = f"{REDIRECT}?code=the-code&state={sign_in.state()}"
    with pytest.raises(tb.SignInError.NotCompleted) as error:
        asyncio.run(sign_in.finish(redirect))
    # The provider's own words come back to the app.
    assert "refused the code (400): verifier matches" in str(error.value)
    [sent] = endpoint.requests
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "the-code"
    assert sent["client_id"] == "tidbit-app"
    assert sent["redirect_uri"] == REDIRECT


def test_a_redirect_of_another_sign_in_is_refused_before_anything_is_sent(endpoint):
    sign_in = tb.SignIn.with_endpoints(settings(), f"{endpoint.url}/auth", f"{endpoint.url}/token")
    with pytest.raises(tb.SignInError.NotCompleted) as error:
        asyncio.run(sign_in.finish(f"{REDIRECT}?code=the-code&state=someone-elses"))
    assert "start the sign-in again" in str(error.value)
    assert endpoint.requests == []


def test_a_sign_in_kept_as_json_finishes_after_a_restart(endpoint):
    sign_in = tb.SignIn.with_endpoints(settings(), f"{endpoint.url}/auth", f"{endpoint.url}/token")
    endpoint.challenge = query(sign_in.authorization_url())["code_challenge"]
    restored = tb.SignIn.from_json(sign_in.to_json())
    assert restored.authorization_url() == sign_in.authorization_url()
    with pytest.raises(tb.SignInError.NotCompleted) as error:
        asyncio.run(restored.finish(f"{REDIRECT}?code=c&state={sign_in.state()}"))
    assert "verifier matches" in str(error.value)
    with pytest.raises(tb.SignInError.InvalidSettings):
        tb.SignIn.from_json("not a saved sign-in")


def test_discovery_naming_another_issuer_is_refused(endpoint):
    endpoint.discovery_issuer = "https://someone-else.example"
    with pytest.raises(tb.SignInError.Unreachable) as error:
        asyncio.run(tb.begin_sign_in(settings(issuer=endpoint.url)))
    assert "names the issuer 'https://someone-else.example'" in str(error.value)
    endpoint.discovery_issuer = endpoint.url
    sign_in = asyncio.run(tb.begin_sign_in(settings(issuer=endpoint.url)))
    assert sign_in.authorization_url().startswith(f"{endpoint.url}/auth?")
