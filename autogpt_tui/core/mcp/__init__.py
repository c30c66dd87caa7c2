"""The MCP client: the user's MCP servers' tools offered to the agent (official ``mcp`` SDK).

``config`` reads ``[[mcp.servers]]``; ``catalogue`` names the tools and decides how each is
approved; ``hub`` holds the connections on an event-loop thread of their own; ``results``
turns a result into an observation; ``effects`` finds what a call changed in the workspace;
``toolbox`` puts it all behind the loop's ToolBackend.
"""
