import socket
import ssl
import stat
import threading

from aerodrome.auth import tls


def test_ca_and_server_certificate_are_trusted_through_the_bundle(tmp_path):
    files = tls.ensure(tmp_path / "tls")
    for key in (tmp_path / "tls" / "ca.key", files.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "Aerodrome local CA" in files.bundle.read_text()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files.cert, files.key)
    client_ctx = ssl.create_default_context(cafile=str(files.bundle))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept():
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.sendall(b"ok")

        thread = threading.Thread(target=accept)
        thread.start()
        with socket.create_connection(("127.0.0.1", port)) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="localhost") as conn:
            assert conn.recv(2) == b"ok"
        thread.join()


def test_certificates_are_kept_and_renewed_for_new_hostnames(tmp_path):
    first = tls.ensure(tmp_path)
    ca, cert = first.ca.read_bytes(), first.cert.read_bytes()
    again = tls.ensure(tmp_path)
    assert (again.ca.read_bytes(), again.cert.read_bytes()) == (ca, cert)
    renamed = tls.ensure(tmp_path, hostnames=("airflow.example.internal", "localhost", "127.0.0.1"))
    assert renamed.ca.read_bytes() == ca
    assert renamed.cert.read_bytes() != cert
