using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace MertEndpoint.Emulator;

/// <summary>Builds and runs the emulator. Tests call <see cref="Build(string[], TimeProvider?, TextWriter?)"/>
/// and start the returned app in-process; <c>Program</c> calls <see cref="RunAsync"/>.</summary>
public static class EmulatorApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        EmulatorOptions options;
        try
        {
            options = EmulatorOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
        if (options.Help)
        {
            Console.WriteLine(EmulatorOptions.Usage);
            return 0;
        }
        try
        {
            await Build(options).RunAsync();
            return 0;
        }
        catch (Exception e)
        {
            // A bad state file, a bad URL or an address in use: one clear line rather than a stack trace.
            await Console.Error.WriteLineAsync($"Emulator failed to start: {e.Message}");
            return 1;
        }
    }

    /// <exception cref="ArgumentException">Invalid command line.</exception>
    public static WebApplication Build(string[] args, TimeProvider? time = null, TextWriter? output = null) =>
        Build(EmulatorOptions.Parse(args), time, output);

    /// <param name="time">The clock of the state machine and billing (tests may pass a manual one).</param>
    /// <param name="output">Where the listening line goes (default stdout).</param>
    public static WebApplication Build(EmulatorOptions options, TimeProvider? time = null, TextWriter? output = null)
    {
        time ??= TimeProvider.System;
        // Slim builder and no args: fast start-up, and no configuration source can reinterpret our options.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null; // data-plane uploads are streamed, whatever their size
            kestrel.AddServerHeader = false;
        });
        // Stdout carries only the listening line; warnings and errors go to stderr.
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None) // start-up failures are reported by RunAsync in one line
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);

        var store = new EndpointStore(options, time);
        var controlPlane = new ControlPlane(options, store);
        var admin = new Admin(store, new FaultRules(), new RequestLog(), time);
        var dataPlane = new DataPlane(options, store, controlPlane, time);

        var app = builder.Build();
        app.Use(admin.RequestIdAndLog);
        app.Use(WriteErrors);
        app.UseStatusCodePages(ctx =>
        {
            // Unmatched routes and wrong methods get the service's error body too.
            var status = ctx.HttpContext.Response.StatusCode;
            return Http.WriteError(ctx.HttpContext, status, ReasonPhrases.GetReasonPhrase(status));
        });
        app.Use(Admin.LoopbackOnly);
        app.Use(admin.InjectFaults);
        app.Use(controlPlane.RequireToken);
        admin.Map(app);
        controlPlane.Map(app);
        dataPlane.Map(app);

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            output ??= Console.Out;
            output.WriteLine($"Emulator listening on {address}");
            output.Flush();
        });
        return app;
    }

    /// <summary>Turns <see cref="ApiException"/> into the service's error body; bad input never becomes a 500.</summary>
    static async Task WriteErrors(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            await next(ctx);
        }
        catch (ApiException e) when (!ctx.Response.HasStarted)
        {
            await Http.WriteError(ctx, e.Status, e.Message);
        }
        catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
        {
            // Kestrel's own verdict on a malformed request (bad chunking, body timeout, ...).
            await Http.WriteError(ctx, e.StatusCode, e.Message);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            // An emulator bug: still answer in the service's shape, and leave the details on stderr.
            await Console.Error.WriteLineAsync($"Unhandled error on {ctx.Request.Method} {ctx.Request.Path}: {e}");
            await Http.WriteError(ctx, 500, $"Internal emulator error: {e.Message}");
        }
    }
}
