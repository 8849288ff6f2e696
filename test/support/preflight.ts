// Fails early, with what to install, when the test suite cannot run here.
try {
  const { success } = await new Deno.Command("redis-server", {
    args: ["--version"],
    stdout: "null",
  }).output();
  if (!success) throw new Error("redis-server --version failed");
} catch (error) {
  console.error(
    `The tests need redis-server (7.0 or newer) on PATH: ${error}\n` +
      "Install it: Debian/Ubuntu `apt-get install redis-server`, macOS `brew install redis`.",
  );
  Deno.exit(1);
}
