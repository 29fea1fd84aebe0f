"""OAuth2 access tokens for mail submission (Microsoft 365 and Google Workspace, `AUTH XOAUTH2`).

One job per module: `errors` (what a provider's refusal means), `cache` (tokens until shortly before expiry),
`http` (the https session that records the provider's answer), `microsoft` and `google` (one token each),
`source` (the token an SMTP connection signs in with: cached, renewed, throttling honoured).
"""
