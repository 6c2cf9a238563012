"""The MCP tools the reference platform's steps call: listed by `GET /api/tools`, drawn by the step user."""

TOOLS = ("search_web", "send_email", "create_calendar_event", "book_table", "query_database", "call_api")
