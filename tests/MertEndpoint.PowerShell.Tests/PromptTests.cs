namespace MertEndpoint.PowerShell.Tests;

/// <summary>ShouldProcess and the second question of Remove (Az's pattern), answered by a test host.</summary>
public class PromptTests
{
    [Fact]
    public async Task Stop_WhatIf_sends_no_write_and_names_the_target()
    {
        using var host = new CmdletHost();
        host.Service.Add("w");
        (await host.RunAsync("Stop-MertEndpoint w -WhatIf; Get-MertEndpoint w* | Stop-MertEndpoint -WhatIf")).Succeeded();
        Assert.Empty(host.Service.Writes);
        Assert.Equal("running", host.Service.StateOf("w"));
        Assert.Equal(2, host.Host.HostLines.Count(l => l.Contains("\"Pause endpoint (billing stops)\" on target \"alice/w\"")));
    }

    [Fact]
    public async Task Start_and_Set_WhatIf_send_no_write()
    {
        using var host = new CmdletHost();
        host.Service.Add("w", state: "paused");
        (await host.RunAsync("Start-MertEndpoint w -WhatIf; Set-MertEndpoint w -MaxReplica 2 -WhatIf")).Succeeded();
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public async Task The_question_of_a_command_that_starts_billing_names_the_hardware_and_its_price()
    {
        using var host = new CmdletHost();
        host.Service.Add("w", state: "paused");
        (await host.RunAsync("Start-MertEndpoint w -WhatIf; Use-MertEndpoint w -WhatIf { }; New-MertEndpoint n -ImageUrl someone/img:1 -WhatIf")).Succeeded();
        Assert.Empty(host.Service.Writes);
        var lines = host.Host.HostLines.Where(l => l.StartsWith("What if:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains("billing starts: bills $1.00/h per replica on nvidia-a10g x1)", lines[0]);
        Assert.Contains("Start endpoint (bills $1.00/h per replica on nvidia-a10g x1), run the script block", lines[1]);
        Assert.Contains("nvidia-a10g x1, replicas 0-1, bills $1.00/h per replica on nvidia-a10g x1", lines[2]);

        // A prompt says it too; without -WhatIf or -Confirm nobody is asked, and nothing extra is read.
        host.Host.Answers.Enqueue("No");
        (await host.RunAsync("Start-MertEndpoint w -Confirm")).Succeeded();
        Assert.Contains("bills $1.00/h per replica on nvidia-a10g x1", Assert.Single(host.Host.Prompts));
        int before = host.Service.Requests.Count;
        (await host.RunAsync("Start-MertEndpoint w")).Succeeded();
        // Only the start's own read goes out before its resume.
        Assert.Single(host.Service.Requests.Skip(before).TakeWhile(r => r.Method == HttpMethod.Get), r => r.Path.EndsWith("/alice/w", StringComparison.Ordinal));
        Assert.Contains(host.Service.Requests.Skip(before), r => r.Is("POST", "/resume"));
    }

    [Fact]
    public async Task Remove_WhatIf_deletes_nothing_even_with_Force()
    {
        using var host = new CmdletHost();
        host.Service.Add("keep-me");
        (await host.RunAsync("Remove-MertEndpoint keep-me -WhatIf; Remove-MertEndpoint keep-me -Force -WhatIf; & { $WhatIfPreference = $true; Remove-MertEndpoint keep-me -Force }")).Succeeded();
        Assert.Empty(host.Service.Writes);
        Assert.Empty(host.Host.Prompts);
    }

    [Theory]
    [InlineData("No", false)]
    [InlineData("Yes", true)]
    public async Task Remove_without_Force_asks_once_and_does_what_the_answer_says(string answer, bool deleted)
    {
        using var host = new CmdletHost();
        host.Service.Add("r");
        host.Host.Answers.Enqueue(answer);
        (await host.RunAsync("Remove-MertEndpoint r")).Succeeded();
        var prompt = Assert.Single(host.Host.Prompts);
        Assert.Contains("Delete endpoint alice/r permanently?", prompt);
        Assert.Equal(!deleted, host.Service.Exists("r"));
        Assert.Equal(deleted ? ["DELETE /v2/endpoint/alice/r"] : [], host.Service.Writes.Select(w => w.ToString()));
    }

    [Fact]
    public async Task Remove_asks_for_each_piped_endpoint_and_Yes_to_All_answers_the_rest()
    {
        using var host = new CmdletHost();
        foreach (var n in new[] { "r1", "r2", "r3" }) host.Service.Add(n);
        host.Host.Answers.Enqueue("No");
        host.Host.Answers.Enqueue("Yes to All");
        (await host.RunAsync("Get-MertEndpoint r* | Remove-MertEndpoint")).Succeeded();
        Assert.Equal(2, host.Host.Prompts.Count);
        Assert.True(host.Service.Exists("r1"));
        Assert.False(host.Service.Exists("r2"));
        Assert.False(host.Service.Exists("r3"));
    }

    [Fact]
    public async Task Remove_Force_deletes_without_a_question_and_through_ShouldProcess()
    {
        using var host = new CmdletHost();
        host.Service.Add("f");
        var run = (await host.RunAsync("Remove-MertEndpoint f -Force -Verbose")).Succeeded();
        Assert.Empty(host.Host.Prompts);
        Assert.False(host.Service.Exists("f"));
        Assert.Contains(run.Verbose, v => v.Contains("Delete endpoint permanently") && v.Contains("alice/f"));
    }

    [Theory]
    [InlineData("No", false)]
    [InlineData("Yes", true)]
    public async Task Remove_Force_Confirm_still_asks_ShouldProcess(string answer, bool deleted)
    {
        using var host = new CmdletHost();
        host.Service.Add("c");
        host.Host.Answers.Enqueue(answer);
        (await host.RunAsync("Remove-MertEndpoint c -Force -Confirm")).Succeeded();
        Assert.Contains("alice/c", Assert.Single(host.Host.Prompts));
        Assert.Equal(!deleted, host.Service.Exists("c"));
    }

    [Fact]
    public async Task Stop_Confirm_asks_per_endpoint_and_pauses_only_what_was_confirmed()
    {
        using var host = new CmdletHost();
        host.Service.Add("a");
        host.Service.Add("b");
        host.Host.Answers.Enqueue("No");
        host.Host.Answers.Enqueue("Yes");
        (await host.RunAsync("Stop-MertEndpoint a, b -Confirm")).Succeeded();
        Assert.Equal(2, host.Host.Prompts.Count);
        Assert.Equal(["POST /v2/endpoint/alice/b/pause"], host.Service.Writes.Select(w => w.ToString()));
    }
}

public class PromptMoreTests
{
    [Fact]
    public async Task Remove_Confirm_false_deletes_a_piped_endpoint_without_a_question()
    {
        using var host = new CmdletHost();
        host.Service.Add("gone");
        (await host.RunAsync("Get-MertEndpoint gone | Remove-MertEndpoint -Confirm:$false")).Succeeded();
        Assert.Empty(host.Host.Prompts);
        Assert.False(host.Service.Exists("gone"));
    }
}
