// A shared library built without taskexec: it must be refused as
// "not a taskexec plugin".
extern "C" int not_taskexec_answer() { return 42; }
