from srpc_calc_client_stub import SrpcCalcClientStub

calc = SrpcCalcClientStub("127.0.0.1")
print(calc.add(4, 2)); print(calc.mult(4, 2)); print(calc.sub(4, 2)); print(calc.div(4, 2))
