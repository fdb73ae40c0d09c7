// The same host shape as PocketCoderServer.Build (slim builder, Kestrel, no console logging), and nothing else.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapGet("/api/health", () => Results.Text("""{"status":"ok"}""", "application/json"));
await app.RunAsync();
