"""The shapes of the Tavus conversation API, as pydantic models.

The request models are strict (unknown fields are rejected) and carry descriptions written for the model that
fills them in: they are the tools' input schemas as well as their validators. The response models are lenient
(Tavus adds fields over time), so a newer Tavus never breaks a call.

- `common`: the request and answer bases, whole-number bounds, paging, path ids, query parameters, URL checks.
- `languages`: the languages Tavus speaks, and their spelling.
- `conversations`, `replicas`, `personas`: each resource's requests and answers.
- `patches`: the JSON Patch operations that update a persona.

Import each name from the submodule that holds it.
"""
