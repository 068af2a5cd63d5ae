"""Jira simulator routes for what hangs off an issue: comments and attachments."""

from __future__ import annotations

from typing import Any

from twinbridge_tools.simulators.jira.base import JiraBase
from twinbridge_tools.simulators.jira.model import (
    SimAttachment,
    SimComment,
    SimUser,
    _item,
    _multipart_files,
    _Reply,
)
from twinbridge_tools.simulators.server import SimRequest, SimResponse


class ContentRoutes(JiraBase):
    def _list_comments(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        start = int(request.param("startAt") or 0)
        size = min(int(request.param("maxResults") or 50), self.page_cap)
        page = issue.comments[start:start + size]
        return SimResponse.json(200, {"startAt": start, "maxResults": size, "total": len(issue.comments),
                                      "comments": [self._comment_json(issue, c) for c in page]})

    def _comment_body(self, request: SimRequest) -> Any:
        return self._check_comment_body((request.json() or {}).get("body"))

    def _add_comment(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        self._require(user, "ADD_COMMENTS", 400, "You do not have the permission to comment on this issue.")
        now = self.clock()
        comment = SimComment(str(next(self._ids)), user, self._comment_body(request), now, now,
                             visibility=_visibility((request.json() or {}).get("visibility")))
        issue.comments.append(comment)
        self._touch(issue)
        self._emit_comment("comment_created", issue, comment, user)
        return SimResponse.json(201, self._comment_json(issue, comment))

    def _get_comment(self, request: SimRequest, user: SimUser, key: str, cid: str) -> SimResponse:
        issue = self._issue(key, user)
        return SimResponse.json(200, self._comment_json(issue, self._comment(issue, cid)))

    def _update_comment(self, request: SimRequest, user: SimUser, key: str, cid: str) -> SimResponse:
        issue = self._issue(key, user)
        comment = self._comment(issue, cid)
        if comment.author is not user and "EDIT_ISSUES" not in user.permissions:
            raise _Reply(400, "You do not have the permission to edit this comment.")
        comment.body, comment.updated, comment.update_author = self._comment_body(request), self.clock(), user
        self._touch(issue)
        self._emit_comment("comment_updated", issue, comment, user)
        return SimResponse.json(200, self._comment_json(issue, comment))

    def _delete_comment(self, request: SimRequest, user: SimUser, key: str, cid: str) -> SimResponse:
        issue = self._issue(key, user)
        comment = self._comment(issue, cid)
        if comment.author is not user and "EDIT_ISSUES" not in user.permissions:
            raise _Reply(400, "You do not have the permission to delete this comment.")
        issue.comments.remove(comment)
        self._touch(issue)
        self._emit_comment("comment_deleted", issue, comment, user)
        return SimResponse(204)

    def _upload(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        if request.headers.get("X-Atlassian-Token", "").lower() != "no-check":
            raise _Reply(403, "XSRF check failed")
        self._require(user, "CREATE_ATTACHMENTS", 403,
                      "You do not have permission to create attachments for this issue.")
        parts = _multipart_files(request)
        if not parts:
            raise _Reply(400, "No file part named 'file' was found in the request.")
        stored = []
        for filename, mime, data in parts:
            att = SimAttachment(str(next(self._ids)), issue.key, filename, mime, data, user, self.clock())
            issue.attachments.append(att)
            self.attachments[att.id] = att
            stored.append(att)
            with self._site_links():
                self._emit("attachment_created", {"attachment": self._attachment_json(att),
                                                  "issue": {"id": issue.id, "key": issue.key,
                                                            "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
                                                            "fields": {"summary": issue.summary}}})
            self._issue_event("jira:issue_updated", "issue_updated", user, issue,
                              [_item("Attachment", None, att.filename, "jira", "attachment", to=att.id)])
        self._touch(issue)
        return SimResponse.json(200, [self._attachment_json(a) for a in stored])

    def _attachment_meta(self, request: SimRequest, user: SimUser, aid: str) -> SimResponse:
        data = self._attachment_json(self._attachment(aid, user))
        if self.flavour == "cloud":  # Cloud's attachment metadata has a numeric id (the issue's list has strings)
            data["id"] = int(data["id"])
        return SimResponse.json(200, data)

    def _content(self, request: SimRequest, user: SimUser, aid: str, name: str | None = None) -> SimResponse:
        att = self._attachment(aid, user)
        chunks = (att.data[i:i + 65536] for i in range(0, len(att.data), 65536))
        return SimResponse(200, chunks, {"Content-Type": att.mime_type,
                                         "Content-Disposition": f'attachment; filename="{att.filename}"'},
                           length=len(att.data))

    def _delete_attachment(self, request: SimRequest, user: SimUser, aid: str) -> SimResponse:
        att = self._attachment(aid, user)
        issue = self.issues[att.issue_key]
        if att.author is not user and "EDIT_ISSUES" not in user.permissions:
            raise _Reply(403, "You do not have permission to delete this attachment.")
        issue.attachments.remove(att)
        del self.attachments[aid]
        self._touch(issue)
        with self._site_links():
            self._emit("attachment_deleted", {"attachment": self._attachment_json(att),
                                              "issue": {"id": issue.id, "key": issue.key,
                                                        "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
                                                        "fields": {"summary": issue.summary}}})
        return SimResponse(204)


def _visibility(value: Any) -> dict[str, str] | None:
    """A comment restricted to a role or a group, as Jira's ``visibility`` names it; anything else is a 400."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("role", "group") \
            or not isinstance(value.get("value") or value.get("identifier"), str):
        raise _Reply(400, "visibility must name a role or a group: {\"type\": \"role\", \"value\": \"...\"}")
    return {k: str(v) for k, v in value.items() if k in ("type", "value", "identifier")}
