"""What the gateway's replies show, as pydantic models, one module per resource.

The route table names each route's reply with these models; the OpenAPI document declares every
reply from them, and the contract test validates real replies against them, so a key added to a
presenter without being declared here fails the suite instead of drifting from the document.
"""
