using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;
using PocketCoder.Errors;

namespace PocketCoder.Web;

/// <summary>
/// Serves the phone app (built from web/ into wwwroot, embedded in the assembly) at <c>/</c>. The shell is public: it
/// holds no data, and every <c>/api</c> endpoint stays behind device authentication. This is middleware, not endpoints,
/// so it runs before authentication and never shadows an <c>/api</c> route.
/// </summary>
public static class WebApp
{
    /// <summary>Vite names everything under /assets/ by its content hash, so a file there never changes.</summary>
    private const string Immutable = "public, max-age=31536000, immutable";

    /// <summary>The shell, the service worker and the manifest must be revalidated, or a phone never sees an update.</summary>
    private const string Revalidate = "no-cache";

    // The shell runs only its own script; the markdown renderer escapes model text, and this is the second fence.
    // {0}: the hashes of index.html's own <style> blocks (the shell painted before the app arrives), and nothing else inline.
    // connect-src reaches the other machines the owner added (one inbox across machines, docs/security.md): which ones is
    // known only to the app, so any http(s) origin; script-src 'self' is what keeps foreign script, and so the tokens, out.
    private const string ContentSecurityPolicyFormat =
        "default-src 'self'; script-src 'self'; style-src 'self'{0}; img-src 'self' data:; connect-src 'self' https: http:; " +
        "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; worker-src 'self'; manifest-src 'self'";

    /// <summary>The app's files; none when the server was built with <c>-p:SkipWebBuild=true</c> on a fresh clone.</summary>
    internal static IFileProvider Files { get; } = new EmbeddedFileProvider(typeof(WebApp).Assembly, "PocketCoder.wwwroot");

    public static WebApplication MapWebApp(this WebApplication app)
    {
        // Embedded (PocketCoder.csproj, IncludeWebApp): the native binary is one file, and `dotnet run` serves the same bytes.
        var files = Files;
        var policy = string.Format(System.Globalization.CultureInfo.InvariantCulture, ContentSecurityPolicyFormat,
            string.Concat(ShellStyleHashes(files).Select(hash => $" 'sha256-{hash}'")));
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".webmanifest"] = "application/manifest+json";

        // A browser that takes brotli or gzip gets the copy the web build made (web/vite.config.ts, precompress).
        app.Use(async (context, next) =>
        {
            if (!await TrySendPrecompressedAsync(context, files, types, policy))
            {
                await next(context);
            }
        });

        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            OnPrepareResponse = context => Secure(context.Context.Response,
                context.Context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal) ? Immutable : Revalidate, policy),
        });

        // Any other page of the app (a deep link such as /s/123, or a reload there) gets the shell; the app routes.
        app.Use(async (context, next) =>
        {
            if (IsMissingFile(context.Request))
            {
                // Not the shell served as JavaScript, and not a 401 for an old asset: plainly not here.
                await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"No file at {context.Request.Path}.");
                return;
            }

            if (IsAppPage(context.Request) && files.GetFileInfo("index.html") is { Exists: true } index)
            {
                await SendAsync(context, index, Revalidate, "text/html; charset=utf-8", policy);
                return;
            }

            await next(context);
        });
        return app;
    }

    /// <summary>
    /// The base64 SHA-256 of each inline <c>&lt;style&gt;</c> block in index.html, as CSP hashes them (the text between the
    /// tags, exactly): the shell's first paint is styled with no request and no <c>'unsafe-inline'</c>.
    /// </summary>
    internal static IEnumerable<string> ShellStyleHashes(IFileProvider files)
    {
        var index = files.GetFileInfo("index.html");
        if (!index.Exists)
        {
            return [];
        }

        using var stream = index.CreateReadStream();
        var html = new StreamReader(stream).ReadToEnd();
        return System.Text.RegularExpressions.Regex.Matches(html, "<style>(.*?)</style>", System.Text.RegularExpressions.RegexOptions.Singleline)
            .Select(match => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(match.Groups[1].Value))))
            .ToArray();
    }

    private static async Task<bool> TrySendPrecompressedAsync(HttpContext context, IFileProvider files, FileExtensionContentTypeProvider types, string policy)
    {
        var request = context.Request;
        if (!IsPublicRead(request))
        {
            return false;
        }

        var path = IsAppPage(request) ? "index.html" : (request.Path.Value ?? "").TrimStart('/');
        if (path.Length == 0 || path.Contains("..", StringComparison.Ordinal) || !types.TryGetContentType(path, out var contentType)
            || !files.GetFileInfo(path).Exists)
        {
            return false;
        }

        foreach (var (encoding, suffix) in new[] { ("br", ".br"), ("gzip", ".gz") })
        {
            if (!Accepts(request, encoding) || files.GetFileInfo(path + suffix) is not { Exists: true } compressed)
            {
                continue;
            }

            context.Response.Headers.ContentEncoding = encoding;
            await SendAsync(context, compressed, path.StartsWith("assets/", StringComparison.Ordinal) ? Immutable : Revalidate,
                path == "index.html" ? "text/html; charset=utf-8" : contentType, policy);
            return true;
        }

        return false;
    }

    /// <summary>Answers with the file (its headers only, for HEAD).</summary>
    private static async Task SendAsync(HttpContext context, IFileInfo file, string cacheControl, string contentType, string policy)
    {
        var response = context.Response;
        Secure(response, cacheControl, policy);
        response.ContentType = contentType;
        response.ContentLength = file.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.SendFileAsync(file, context.RequestAborted);
        }
    }

    /// <summary>Whether <c>Accept-Encoding</c> names the coding with a weight above zero.</summary>
    private static bool Accepts(HttpRequest request, string encoding) =>
        request.GetTypedHeaders().AcceptEncoding.Any(value =>
            string.Equals(value.Value.Value, encoding, StringComparison.OrdinalIgnoreCase) && value.Quality is not 0);

    private static bool IsAppPage(HttpRequest request) => IsPublicRead(request) && !Path.HasExtension(request.Path.Value ?? "");

    /// <summary>Static files answered first, so a file name that reaches here names nothing (an old hashed asset, a typo).</summary>
    private static bool IsMissingFile(HttpRequest request) => IsPublicRead(request) && Path.HasExtension(request.Path.Value ?? "");

    private static bool IsPublicRead(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && !request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
        && !request.Path.StartsWithSegments("/openapi", StringComparison.OrdinalIgnoreCase);

    private static void Secure(HttpResponse response, string cacheControl, string policy)
    {
        var headers = response.Headers;
        headers[HeaderNames.CacheControl] = cacheControl;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers[HeaderNames.ContentSecurityPolicy] = policy;
        headers["Referrer-Policy"] = "no-referrer";
        // The same URL answers brotli, gzip or plain by Accept-Encoding: caches must keep them apart.
        headers[HeaderNames.Vary] = HeaderNames.AcceptEncoding;
    }
}
