import paramiko


def test_it_serves_exec_and_sftp_with_the_pinned_host_key(sshd):
    client = paramiko.SSHClient()
    client.get_host_keys().add(f"[{sshd.host}]:{sshd.port}", "ssh-ed25519", sshd.host_key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(sshd.host, sshd.port, username=sshd.username, pkey=sshd.client_key)
    try:
        _, stdout, _ = client.exec_command("echo hello")
        assert stdout.read().strip() == b"hello"
        assert stdout.channel.recv_exit_status() == 0
        assert client.open_sftp().stat("/").st_mode
    finally:
        client.close()
