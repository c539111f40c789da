from pathlib import Path

from aerodrome.domain.placement import Placement

STORED = {"env_id": "e1", "root": "/srv/e1", "web_port": 8801, "gateway_port": 8802, "broker_db": 3}


def test_the_stored_json_keeps_its_keys_and_order():
    placement = Placement.from_json(STORED)
    assert placement == Placement(env_id="e1", root=Path("/srv/e1"), web_port=8801, broker_db=3, gateway_port=8802)
    assert list(placement.to_json().items()) == list(STORED.items())
    assert placement.endpoint_port == 8802


def test_an_older_placement_without_a_gateway_port_is_served_on_the_web_port():
    older = {k: v for k, v in STORED.items() if k != "gateway_port"}
    placement = Placement.from_json(older)
    assert placement.gateway_port is None and placement.endpoint_port == 8801
    assert placement.to_json() == older
