"""The OAuth 2 authorization-code flow of Slack apps: authorize requests, consent, codes, PKCE
and the token exchange (`oauth.v2.access`). Pure logic over the Store protocol."""
