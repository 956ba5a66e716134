"""The spyops operator: the spyops.io API (TradingStrategy, IBKRGateway, VpnLink) and its controllers."""
