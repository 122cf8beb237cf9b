"""The domain: settings, deadline and light rules, rates and rankings, scopes. No Dash, SQL or Redis."""
