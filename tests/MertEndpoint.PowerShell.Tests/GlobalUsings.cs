global using Xunit;
global using System.Management.Automation;
global using MertEndpoint.Tests;
