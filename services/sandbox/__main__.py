from services.sandbox.server import run

run()
