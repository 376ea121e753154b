"""The JSON API for cases, through HTTP, routing, authentication and permissions."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.reference.service import unknown_area
from tests.conftest import (
    CAMDEN,
    CHURCH_STREET,
    POINT_AREA,
    READY_CHEERS,
    WESTMINSTER,
    Cast,
    Person,
    new_case_body,
)


def create(client: TestClient, person: Person, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/cases", json=new_case_body(**overrides), headers=person.api)
    assert response.status_code == 201, response.text
    return response.json()


def patch(client: TestClient, person: Person, ref: str, **fields: Any) -> dict[str, Any]:
    current = client.get(f"/api/v1/cases/{ref}", headers=person.api).json()
    response = client.patch(f"/api/v1/cases/{ref}", json={"version": current["version"], **fields},
                            headers=person.api)
    assert response.status_code == 200, response.text
    return response.json()


def move(client: TestClient, person: Person, ref: str, to: str, reason: str = "",
         override: bool = False) -> Any:
    return client.post(f"/api/v1/cases/{ref}/transitions",
                       json={"to": to, "reason": reason, "override": override},
                       headers=person.api)


def test_create_answers_201_with_ref_stage_and_version(client: TestClient, cast: Cast) -> None:
    response = client.post("/api/v1/cases", json=new_case_body(), headers=cast.officer.api)
    assert response.status_code == 201
    body = response.json()
    assert body["ref"].startswith("WM-") and body["ref"].endswith("-0001")
    assert body["stage"] == "scanning"
    assert body["version"] == 1
    assert body["borough"] == WESTMINSTER and body["borough_name"] == "Westminster"
    assert body["ward"] == CHURCH_STREET and body["ward_name"] == "Church Street"
    assert body["owner"] == "pc.shah"
    assert response.headers["Location"] == f"/api/v1/cases/{body['ref']}"
    assert body["gate"]["stage"] == "scanning" and body["gate"]["met"] is False


def test_refs_count_up_within_borough_and_year(client: TestClient, cast: Cast) -> None:
    first = create(client, cast.officer)["ref"]
    second = create(client, cast.officer, title="Another problem")["ref"]
    camden = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    assert int(second[-4:]) == int(first[-4:]) + 1
    assert camden.startswith("CM-") and camden.endswith("-0001")


def test_read_unknown_case_is_404(client: TestClient, cast: Cast) -> None:
    response = client.get("/api/v1/cases/WM-2020-9999", headers=cast.officer.api)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "There is no case WM-2020-9999."}


def test_case_in_another_borough_is_404_not_403(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    response = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api)
    assert response.status_code == 404
    assert response.json()["message"] == f"There is no case {ref}."


def test_bad_input_is_422_with_a_message_per_field(client: TestClient, cast: Cast) -> None:
    response = client.post("/api/v1/cases", headers=cast.officer.api, json={
        "title": "ab", "category": "knife-crime", "borough": "Westminster",
        "target_area": {"geometry": {"type": "Point", "coordinates": [51.52, -0.17]},
                        "radius_m": 100},
    })
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["title"] == "Enter a title of at least 3 characters."
    assert fields["category"] == "Choose a crime category."
    assert fields["borough"] == ("Use the ONS code of a local policing area, such as E09000033 "
                                 "(Westminster) or W06000002 (Gwynedd).")
    assert "did you mean [-0.17, 51.52]?" in fields["target_area"]


def test_unknown_borough_code_is_refused_clearly(client: TestClient, cast: Cast) -> None:
    response = client.post("/api/v1/cases", json=new_case_body(borough="E09000099", ward=None),
                           headers=cast.supervisor.api)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "borough", "message": unknown_area("E09000099")}]


def test_ward_must_belong_to_the_borough(client: TestClient, cast: Cast) -> None:
    response = client.post("/api/v1/cases", json=new_case_body(ward="E05013655"),
                           headers=cast.officer.api)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ward"


def test_officer_cannot_open_a_case_outside_their_borough(client: TestClient, cast: Cast) -> None:
    response = client.post("/api/v1/cases", json=new_case_body(borough=CAMDEN, ward=None),
                           headers=cast.officer.api)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "borough", "message": "You can work only on cases in your own area."}


def test_malformed_json_is_422(client: TestClient, cast: Cast) -> None:
    response = client.post("/api/v1/cases", content=b"{not json",
                           headers={**cast.officer.api, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


def test_list_filters_paginates_and_counts(client: TestClient, cast: Cast) -> None:
    refs = [create(client, cast.officer, title=f"Problem number {i}",
                   category="drugs" if i % 2 else "robbery")["ref"] for i in range(5)]
    create(client, cast.camden_officer, borough=CAMDEN, ward=None, title="Camden problem")

    everything = client.get("/api/v1/cases?sort=ref", headers=cast.supervisor.api).json()
    assert everything["total"] == 5  # the supervisor's borough only
    assert [c["ref"] for c in everything["items"]] == refs

    page = client.get("/api/v1/cases?sort=ref&limit=2&offset=2", headers=cast.supervisor.api)
    assert page.json()["total"] == 5
    assert [c["ref"] for c in page.json()["items"]] == refs[2:4]

    drugs = client.get("/api/v1/cases?category=drugs", headers=cast.supervisor.api).json()
    assert {c["ref"] for c in drugs["items"]} == {refs[1], refs[3]}

    text = client.get("/api/v1/cases?q=NUMBER%203", headers=cast.supervisor.api).json()
    assert [c["ref"] for c in text["items"]] == [refs[3]]

    by_ref = client.get(f"/api/v1/cases?q={refs[4].lower()}", headers=cast.supervisor.api)
    assert [c["ref"] for c in by_ref.json()["items"]] == [refs[4]]

    analyst = client.get("/api/v1/cases", headers=cast.analyst.api).json()
    assert analyst["total"] == 6
    camden = client.get(f"/api/v1/cases?borough={CAMDEN}", headers=cast.analyst.api).json()
    assert [c["title"] for c in camden["items"]] == ["Camden problem"]


def test_list_filters_by_stage_ward_owner_and_overdue(client: TestClient, cast: Cast) -> None:
    first = create(client, cast.officer)["ref"]
    second = create(client, cast.officer, ward=None, title="Estate drug market")["ref"]
    patch(client, cast.supervisor, second, owner="sgt.okafor")
    patch(client, cast.officer, first, cheers=READY_CHEERS, target_area=POINT_AREA)
    assert move(client, cast.officer, first, "analysis").status_code == 200
    client.post(f"/api/v1/cases/{second}/actions", headers=cast.officer.api,
                json={"title": "Fix the door entry", "due_date": "2020-01-01"})

    def refs(query: str) -> list[str]:
        response = client.get(f"/api/v1/cases?{query}", headers=cast.officer.api)
        assert response.status_code == 200, response.text
        return [c["ref"] for c in response.json()["items"]]

    assert refs("stage=analysis") == [first]
    assert set(refs("stage=analysis&stage=scanning")) == {first, second}
    assert refs(f"ward={CHURCH_STREET}") == [first]
    assert refs("owner=sgt.okafor") == [second]
    assert refs("overdue=true") == [second]
    assert refs("overdue=false") == [first]
    listed = client.get("/api/v1/cases?overdue=true", headers=cast.officer.api).json()
    assert listed["items"][0]["overdue_actions"] == 1


def test_list_rejects_bad_filters_with_422(client: TestClient, cast: Cast) -> None:
    response = client.get("/api/v1/cases?stage=done&limit=0", headers=cast.officer.api)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"stage.0", "limit"}


def test_list_ordering_is_stable_when_sort_keys_tie(client: TestClient, cast: Cast) -> None:
    refs = [create(client, cast.officer, title="Same title", priority="medium")["ref"]
            for _ in range(4)]
    pages = []
    for offset in range(4):
        response = client.get(f"/api/v1/cases?sort=priority&limit=1&offset={offset}",
                              headers=cast.officer.api)
        pages += [c["ref"] for c in response.json()["items"]]
    assert pages == refs


def test_patch_changes_only_given_fields_and_bumps_version(client: TestClient, cast: Cast) -> None:
    case = create(client, cast.officer)
    response = client.patch(f"/api/v1/cases/{case['ref']}", headers=cast.officer.api,
                            json={"version": 1, "priority": "low",
                                  "cheers": {"harm": {"met": True, "evidence": "Injuries"}}})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert body["priority"] == "low"
    assert body["title"] == case["title"]
    assert body["cheers"]["harm"] == {"met": True, "evidence": "Injuries"}
    assert body["cheers"]["community"] == {"met": None, "evidence": ""}


def test_stale_version_is_409_and_changes_nothing(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    patch(client, cast.officer, ref, title="Changed by a colleague")
    response = client.patch(f"/api/v1/cases/{ref}", json={"version": 1, "title": "Mine"},
                            headers=cast.supervisor.api)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "stale_version" and body["current_version"] == 2
    assert client.get(f"/api/v1/cases/{ref}",
                      headers=cast.officer.api).json()["title"] == "Changed by a colleague"


def test_patch_without_version_is_422(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    response = client.patch(f"/api/v1/cases/{ref}", json={"title": "New"},
                            headers=cast.officer.api)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "version",
                                          "message": "Enter the version last read."}]


def test_gate_failure_is_409_listing_the_exact_unmet_items(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    patch(client, cast.officer, ref, cheers={
        "community": {"met": True, "evidence": "Traders"},
        "harm": {"met": False, "evidence": ""},
        "expectation": {"met": True, "evidence": ""},
    })
    response = move(client, cast.officer, ref, "analysis")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "gate_unmet" and body["stage"] == "scanning"
    assert body["unmet"] == [
        {"code": "target_area", "message": "Set the target area (a polygon, or a point and "
                                           "radius)."},
        {"code": "cheers.harm", "message": "CHEERS Harm is assessed as not met."},
        {"code": "cheers.expectation", "message": "CHEERS Expectation is met but has no "
                                                  "evidence."},
        {"code": "cheers.events", "message": "CHEERS Events has not been assessed."},
        {"code": "cheers.recurring", "message": "CHEERS Recurring has not been assessed."},
        {"code": "cheers.similarity", "message": "CHEERS Similarity has not been assessed."},
    ]
    assert client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()["stage"] == \
        "scanning"


def test_case_goes_from_scanning_to_closed_and_back(client: TestClient, cast: Cast) -> None:
    officer, supervisor = cast.officer, cast.supervisor
    ref = create(client, officer)["ref"]
    patch(client, officer, ref, cheers=READY_CHEERS, target_area=POINT_AREA)
    assert move(client, officer, ref, "analysis").json()["stage"] == "analysis"

    patch(client, cast.analyst, ref, triangle={side: {"who": f"The {side}"} for side in
                                               ("offender", "victim", "place")},
          analysis_summary="Pack-up time is the problem.", baseline_start="2025-01-01",
          baseline_end="2025-12-31")
    assert client.post(f"/api/v1/cases/{ref}/hypotheses", headers=cast.analyst.api,
                       json={"statement": "Cash at pack-up draws robbers"}).status_code == 201
    assert move(client, officer, ref, "response").json()["stage"] == "response"

    patch(client, officer, ref, response_plan="Lighting, patrols and a cash service.")
    action = client.post(f"/api/v1/cases/{ref}/actions", headers=officer.api, json={
        "title": "Fix the lighting", "tactic": "natural-surveillance", "partner": "council",
        "owner": "Markets team", "due_date": "2026-01-31"}).json()
    blocked = move(client, officer, ref, "assessment")
    assert [u["code"] for u in blocked.json()["unmet"]] == ["actions.completed"]
    done = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}", headers=officer.api,
                        json={"version": action["version"], "status": "done"})
    assert done.json()["completed_on"] is not None
    assert move(client, officer, ref, "assessment").json()["stage"] == "assessment"

    patch(client, officer, ref, process_evaluation="All delivered.",
          impact_evaluation="Assaults fell from 31 to 12.", outcome="fewer_incidents",
          impact_none_reason="No crime data is imported for Westminster.",
          lessons_learned="Start with the council.")
    refused = move(client, officer, ref, "closed")
    assert refused.status_code == 403
    closed = move(client, supervisor, ref, "closed", reason="Done")
    assert closed.status_code == 200 and closed.json()["stage"] == "closed"

    assert client.patch(f"/api/v1/cases/{ref}", headers=officer.api,
                        json={"version": closed.json()["version"], "title": "Edit"}
                        ).status_code == 409
    assert move(client, officer, ref, "assessment", reason="More to do").status_code == 403
    reopened = move(client, supervisor, ref, "response", reason="Displacement found nearby")
    assert reopened.json()["stage"] == "response"

    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=officer.api).json()
    moves = [(e["from_stage"], e["to_stage"], e["actor"]) for e in timeline
             if e["kind"] == "moved"]
    assert moves == [
        ("closed", "response", "sgt.okafor"), ("assessment", "closed", "sgt.okafor"),
        ("response", "assessment", "pc.shah"), ("analysis", "response", "pc.shah"),
        ("scanning", "analysis", "pc.shah"),
    ]
    assert timeline[0]["body"] == "Displacement found nearby"


def test_back_move_needs_a_reason(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    patch(client, cast.officer, ref, cheers=READY_CHEERS, target_area=POINT_AREA)
    move(client, cast.officer, ref, "analysis")
    without = move(client, cast.officer, ref, "scanning")
    assert without.status_code == 422
    assert without.json()["errors"] == [
        {"field": "reason", "message": "Give a reason for moving the case back."}]
    back = move(client, cast.officer, ref, "scanning", reason="Problem redefined")
    assert back.status_code == 200 and back.json()["stage"] == "scanning"


def test_skipping_a_stage_is_refused(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    response = move(client, cast.supervisor, ref, "response", override=True, reason="Hurry")
    assert response.status_code == 409
    assert response.json()["error"] == "move_refused"


def test_only_a_supervisor_overrides_a_gate_and_it_is_recorded(client: TestClient,
                                                               cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    refused = move(client, cast.officer, ref, "analysis", override=True, reason="Urgent")
    assert refused.status_code == 403
    no_reason = move(client, cast.supervisor, ref, "analysis", override=True)
    assert no_reason.status_code == 422
    moved = move(client, cast.supervisor, ref, "analysis", override=True,
                 reason="Serious violence: analysis cannot wait")
    assert moved.status_code == 200
    event = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()[0]
    assert event["overridden"] is True
    assert event["body"] == "Serious violence: analysis cannot wait"
    assert "target_area" in [u["code"] for u in event["details"]["unmet"]]


def test_analyst_edits_analysis_only(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    assert client.patch(f"/api/v1/cases/{ref}", headers=cast.analyst.api,
                        json={"version": 1, "analysis_summary": "Findings"}).status_code == 200
    response = client.patch(f"/api/v1/cases/{ref}", headers=cast.analyst.api,
                            json={"version": 2, "title": "Renamed"})
    assert response.status_code == 403
    assert move(client, cast.analyst, ref, "analysis").status_code == 403


def test_evaluator_reads_everything_and_changes_nothing(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    assert client.get(f"/api/v1/cases/{ref}", headers=cast.evaluator.api).status_code == 200
    assert client.patch(f"/api/v1/cases/{ref}", headers=cast.evaluator.api,
                        json={"version": 1, "title": "Renamed"}).status_code == 403
    assert client.post(f"/api/v1/cases/{ref}/notes", headers=cast.evaluator.api,
                       json={"body": "No"}).status_code == 403
    assert client.post("/api/v1/cases", headers=cast.evaluator.api,
                       json=new_case_body()).status_code == 403


def test_only_supervisors_assign_owners(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    assert client.patch(f"/api/v1/cases/{ref}", headers=cast.officer.api,
                        json={"version": 1, "owner": "sgt.okafor"}).status_code == 403
    wrong = client.patch(f"/api/v1/cases/{ref}", headers=cast.supervisor.api,
                         json={"version": 1, "owner": "pc.clarke"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "owner"
    assigned = client.patch(f"/api/v1/cases/{ref}", headers=cast.supervisor.api,
                            json={"version": 1, "owner": "sgt.okafor"})
    assert assigned.json()["owner"] == "sgt.okafor"


def test_hypotheses_and_actions_carry_their_own_versions(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    hypothesis = client.post(f"/api/v1/cases/{ref}/hypotheses", headers=cast.officer.api,
                             json={"statement": "Cash draws robbers"}).json()
    updated = client.patch(f"/api/v1/cases/{ref}/hypotheses/{hypothesis['id']}",
                           headers=cast.officer.api,
                           json={"version": 1, "status": "refuted", "evidence": "No cash"})
    assert updated.json()["status"] == "refuted" and updated.json()["version"] == 2
    stale = client.patch(f"/api/v1/cases/{ref}/hypotheses/{hypothesis['id']}",
                         headers=cast.officer.api, json={"version": 1, "status": "open"})
    assert stale.status_code == 409
    missing = client.patch(f"/api/v1/cases/{ref}/actions/999999", headers=cast.officer.api,
                           json={"version": 1, "status": "done"})
    assert missing.status_code == 404
    bad_tactic = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api,
                             json={"title": "Something", "tactic": "magic"})
    assert bad_tactic.status_code == 422
    # A note from a colleague does not make an open form stale.
    client.post(f"/api/v1/cases/{ref}/notes", headers=cast.supervisor.api, json={"body": "Hi"})
    assert client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()["version"] == 1


def test_overdue_actions_are_flagged(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    late = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api,
                       json={"title": "Late one", "due_date": "2024-01-01"}).json()
    done = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api,
                       json={"title": "Done one", "due_date": "2024-01-01",
                             "status": "done"}).json()
    assert late["overdue"] is True
    assert done["overdue"] is False


def test_path_ids_beyond_32_bits_are_422_not_500(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    response = client.patch(f"/api/v1/cases/{ref}/actions/99999999999",
                            headers=cast.officer.api, json={"version": 1})
    assert response.status_code == 422


def test_vocabularies_and_wards(client: TestClient, cast: Cast) -> None:
    vocab = client.get("/api/v1/vocabularies", headers=cast.officer.api).json()
    assert len([t for t in vocab["tactics"] if t["group"] != "Other policing and "
                "partnership tactics"]) == 25
    assert [s["value"] for s in vocab["stages"]] == ["scanning", "analysis", "response",
                                                     "assessment", "closed"]
    boroughs = client.get("/api/v1/boroughs", headers=cast.officer.api).json()
    assert len(boroughs) == 33
    wards = client.get(f"/api/v1/boroughs/{WESTMINSTER}/wards", headers=cast.officer.api).json()
    assert {"code": CHURCH_STREET, "name": "Church Street", "name_welsh": "",
            "borough": WESTMINSTER} in wards


def test_list_filters_with_bad_values_are_422_not_500(client: TestClient, cast: Cast) -> None:
    for query, field in (("sort=sideways", "sort"), ("category=knife-crime", "category"),
                         ("borough=Westminster", "borough"), ("ward=E0501", "ward"),
                         ("owner=x", "owner"), ("q=" + "x" * 201, "q")):
        response = client.get(f"/api/v1/cases?{query}", headers=cast.officer.api)
        assert response.status_code == 422, query
        assert [e["field"] for e in response.json()["errors"]] == [field], query
