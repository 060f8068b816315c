from srpc_calc_server_stub import SrpcCalcServerStub

SrpcCalcServerStub().start()
