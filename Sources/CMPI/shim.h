// The part of Open MPI's C interface that the MPI communicator calls. Open MPI
// defines its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) as macros that
// take the address of a library global, which Swift cannot import; the inline
// functions below hand them over as values.
#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm bert_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype bert_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype bert_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype bert_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype bert_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op bert_mpi_sum(void) { return MPI_SUM; }
static inline void *bert_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int bert_mpi_success(void) { return MPI_SUCCESS; }
static inline int bert_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline MPI_Errhandler bert_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int bert_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
#endif
