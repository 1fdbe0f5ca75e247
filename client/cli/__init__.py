from client.cli.main import load_settings_from, main, stdout_console

__all__ = ["load_settings_from", "main", "stdout_console"]
